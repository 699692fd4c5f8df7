/** The kiosk's first screens: device set-up, the roster, the PIN pad (no recorder, no uploader). */
import { useEffect, useState } from "preact/hooks";
import { ApiError, type Schemas, api, call } from "../lib/api/client";
import { t } from "../lib/i18n";
import { Link, type Params, navigate } from "../lib/router";
import { type Tokens, deviceToken, setDeviceToken, signIn, signOut } from "../lib/session";
import { ErrorNote, Page, Spinner } from "../lib/ui";
import { Face, ListeningNote, useListening } from "./kiosk";

export function Setup() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    const response = await fetch("/api/v1/device/roster", { headers: { "X-Device-Token": token.trim() } }).catch(() => null);
    if (!response) return setError(t("error.network"));
    if (!response.ok) return setError(t("kiosk.setup.bad"));
    signOut();
    setDeviceToken(token.trim());
    navigate("/kiosk", true);
  }
  return (
    <div class="kiosk">
      <Page title={t("kiosk.setup.title")} back="/">
        <p class="lead">{t("kiosk.setup.lead")}</p>
        <form onSubmit={submit}>
          <label for="device-token">{t("kiosk.setup.token")}</label>
          <input id="device-token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          <ErrorNote error={error} />
          <p>
            <button type="submit">{t("kiosk.setup.submit")}</button>
          </p>
        </form>
      </Page>
    </div>
  );
}

export function Roster() {
  const [roster, setRoster] = useState<Schemas["Roster"] | null>(null);
  const listening = useListening();
  useEffect(() => {
    if (!deviceToken()) {
      navigate("/kiosk/setup", true);
      return;
    }
    // Whoever was signed in is signed out when the roster shows: the next child is here.
    signOut();
    call(api.GET("/api/v1/device/roster")).then(setRoster, (e) => {
      if (e instanceof ApiError && e.status === 401) {
        setDeviceToken(null);
        navigate("/kiosk/setup", true);
      }
    });
  }, []);
  return (
    <div class="kiosk">
      <Page title={roster ? roster.school_name : t("kiosk.roster.title")} wide>
        <ListeningNote status={listening} />
        <h2>{t("kiosk.roster.title")}</h2>
        {!roster ? <Spinner label={t("loading")} /> : null}
        {roster?.classes.map((cls) => (
          <section key={cls.id} aria-labelledby={`class-${cls.id}`}>
            <h2 id={`class-${cls.id}`}>{cls.name}</h2>
            <ul class="tiles">
              {cls.children.map((child) => (
                <li key={child.id}>
                  <Link class="button tile" href={`/kiosk/pin/${child.id}`} data-testid="roster-tile">
                    <Face seed={child.id} text={child.given_name} />
                    <span>{child.given_name} {child.family_initial}.</span>
                  </Link>
                </li>
              ))}
            </ul>
          </section>
        ))}
        <p>
          <Link href="/kiosk/setup" class="muted">{t("kiosk.setup.reset")}</Link>
        </p>
      </Page>
    </div>
  );
}

export function Pin(props: { params: Params }) {
  const childId = props.params.childId!;
  const [pin, setPin] = useState("");
  const [error, setError] = useState<"wrong" | "locked" | "network" | null>(null);
  const [name, setName] = useState("");
  useEffect(() => {
    call(api.GET("/api/v1/device/roster")).then((r) => {
      const found = r.classes.flatMap((c) => c.children).find((c) => c.id === childId);
      setName(found?.given_name ?? "");
    }, () => undefined);
  }, [childId]);

  async function submit(code: string) {
    try {
      const tokens = await call(api.POST("/api/v1/auth/child-login", { body: { child_id: childId, pin: code } }));
      signIn("child", tokens as Tokens);
      navigate("/kiosk/home", true);
    } catch (e) {
      setPin("");
      setError(e instanceof ApiError ? (e.status === 429 ? "locked" : "wrong") : "network");
    }
  }
  function press(digit: string) {
    if (error === "locked") return;
    setError(null);
    const next = (pin + digit).slice(0, 8);
    setPin(next);
  }
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
  return (
    <div class="kiosk">
      <Page title={t("kiosk.pin.title")} back="/kiosk">
        <p class="lead" style={{ textAlign: "center" }}>{name ? t("kiosk.pin.hello", { name }) : null}</p>
        <div class="pindots" aria-live="polite" aria-label={t("kiosk.pin.digits", { n: pin.length })}>
          {Array.from({ length: Math.max(4, pin.length) }, (_, i) => (i < pin.length ? "●" : "○")).join(" ")}
        </div>
        {error === "wrong" ? <p class="error" role="alert" data-testid="pin-error">😕 {t("kiosk.pin.wrong")}</p> : null}
        {error === "locked" ? <p class="error" role="alert" data-testid="pin-locked">🔒 {t("kiosk.pin.locked")}</p> : null}
        {error === "network" ? <p class="error" role="alert">{t("error.network")}</p> : null}
        <div class="pinpad">
          {keys.map((k) => (
            <button key={k} type="button" onClick={() => press(k)} disabled={error === "locked"}>{k}</button>
          ))}
          <button type="button" aria-label={t("kiosk.pin.delete")} onClick={() => setPin(pin.slice(0, -1))}>⌫</button>
          <button type="button" onClick={() => press("0")} disabled={error === "locked"}>0</button>
          <button type="button" aria-label={t("kiosk.pin.ok")} data-testid="pin-ok" disabled={pin.length < 4 || error === "locked"} onClick={() => void submit(pin)}>✓</button>
        </div>
      </Page>
    </div>
  );
}

