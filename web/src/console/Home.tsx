/** Console sign-in and the start page: each role lands on its own work. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, call } from "../lib/api/client";
import { t } from "../lib/i18n";
import { navigate } from "../lib/router";
import { type Tokens, signIn, useSession } from "../lib/session";
import { ErrorNote, Page, Spinner } from "../lib/ui";

export function homeFor(role: string): string {
  return (
    {
      psychologist: "/console/help",
      staff: "/console/school",
      moderator: "/console/moderation",
      admin: "/console/admin",
    }[role] ?? "/console/signin"
  );
}

export function ConsoleHome() {
  const user = useSession();
  useEffect(() => {
    navigate(user ? homeFor(user.role) : "/console/signin", true);
  }, [user?.id]);
  return <Spinner label={t("loading")} />;
}

export function ConsoleSignIn() {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tokens = (await call(api.POST("/api/v1/auth/login", { body: { login, password } }))) as Tokens;
      signIn("user", tokens);
      navigate(homeFor(tokens.user.role), true);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? t("error.credentials") : t("error.network"));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Page title={t("console.signin")} back="/">
      <form onSubmit={submit}>
        <label for="login">{t("console.login")}</label>
        <input id="login" autoComplete="username" required value={login} onInput={(e) => setLogin(e.currentTarget.value)} />
        <label for="password">{t("signin.password")}</label>
        <input id="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <p>
          <button type="submit" disabled={busy}>{t("signin.submit")}</button>
        </p>
      </form>
    </Page>
  );
}
