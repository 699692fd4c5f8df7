/** The password sign-in form that parents and console users share; each caller says where it leads. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, call } from "./api/client";
import { t } from "./i18n";
import { type Tokens, signIn } from "./session";
import { ErrorNote, Page } from "./ui";

export function SignInForm(props: {
  title: string;
  loginLabel: string;
  loginType?: "text" | "tel";
  explain: (error: unknown) => string;
  onSignedIn: (tokens: Tokens) => void;
  children?: ComponentChildren;
}) {
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
      props.onSignedIn(tokens);
    } catch (e) {
      setError(props.explain(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Page title={props.title} back="/">
      <form onSubmit={submit}>
        <label for="login">{props.loginLabel}</label>
        <input
          id="login"
          name="login"
          type={props.loginType ?? "text"}
          autoComplete="username"
          required
          value={login}
          onInput={(e) => setLogin(e.currentTarget.value)}
        />
        <label for="password">{t("signin.password")}</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorNote error={error} />
        <p>
          <button type="submit" disabled={busy}>{t("signin.submit")}</button>
        </p>
      </form>
      {props.children}
    </Page>
  );
}
