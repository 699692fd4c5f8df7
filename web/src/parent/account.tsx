/** Signing in and registering: the parent's first screens, kept free of the recorder and uploader. */
import { useState } from "preact/hooks";
import { SignInForm } from "../lib/SignInForm";
import { ApiError, api, call } from "../lib/api/client";
import { t } from "../lib/i18n";
import { Link, navigate } from "../lib/router";
import { type Tokens, signIn } from "../lib/session";
import { ErrorNote, Page } from "../lib/ui";

export function explain(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.slug === "invalid-credentials" || error.status === 401) return t("error.credentials");
    if (error.status === 429) return t("error.tooMany");
    if (error.status === 409) return t("error.conflict");
    return error.message;
  }
  return t("error.network");
}

function nextPath(): string {
  const next = new URLSearchParams(location.search).get("next");
  return next?.startsWith("/parent") ? next : "/parent";
}

export function SignIn() {
  return (
    <SignInForm
      title={t("signin.title")}
      loginLabel={t("signin.phone")}
      loginType="tel"
      explain={explain}
      onSignedIn={() => navigate(nextPath(), true)}
    >
      <p>
        {t("signin.new")} <Link href="/parent/register">{t("register.title")}</Link>
      </p>
    </SignInForm>
  );
}

export function Register() {
  const [phone, setPhone] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function sendCode() {
    setError(null);
    try {
      await call(api.POST("/api/v1/auth/phone-codes", { body: { phone, purpose: "register" } }));
      setSent(true);
    } catch (e) {
      setError(explain(e));
    }
  }
  async function submit(event: Event) {
    event.preventDefault();
    if (password.length < 8) {
      setError(t("register.short"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call(api.POST("/api/v1/auth/register", { body: { phone, code, display_name: name, password } }));
      const tokens = await call(api.POST("/api/v1/auth/login", { body: { login: phone, password } }));
      signIn("user", tokens as Tokens);
      navigate("/parent/join", true);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 409 ? t("register.taken") : explain(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Page title={t("register.title")} back="/parent/signin">
      <form onSubmit={submit}>
        <label for="phone">{t("signin.phone")}</label>
        <input id="phone" type="tel" autoComplete="tel" required value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
        <p>
          <button type="button" class="secondary" data-testid="send-code" disabled={!phone} onClick={() => void sendCode()}>
            {t("register.sendCode")}
          </button>
          {sent ? <span class="muted"> {t("register.codeSent")}</span> : null}
        </p>
        <label for="sms-code">{t("register.code")}</label>
        <input id="sms-code" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <label for="name">{t("register.name")}</label>
        <input id="name" autoComplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="new-password">{t("signin.password")}</label>
        <input id="new-password" type="password" autoComplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <p class="muted">{t("register.hint")}</p>
        <ErrorNote error={error} />
        <p>
          <button type="submit" disabled={busy}>{t("register.submit")}</button>
        </p>
      </form>
    </Page>
  );
}

