/**
 * Admins: volunteer psychologists and moderators. New accounts; a
 * psychologist's verification (verify, make supervisor, strike off, which
 * hands their open cases back); suspending an account (signs it out at once)
 * and reinstating it.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { Shell } from "../Shell";

type Profile = Schemas["ProfilePublic"];
type User = Schemas["UserPublic"];

function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : t("error.network");
}

function AccountButton(props: { user: User | undefined; onDone: () => void; onError: (e: string) => void }) {
  const { user } = props;
  if (!user) return null;
  async function toggle() {
    const path = { params: { path: { user_id: user!.id } } };
    try {
      await call(user!.disabled_at ? api.POST("/api/v1/users/{user_id}/enable", path) : api.POST("/api/v1/users/{user_id}/disable", path));
      props.onDone();
    } catch (e) {
      props.onError(errorText(e));
    }
  }
  return user.disabled_at ? (
    <button type="button" class="secondary" data-testid="reinstate" onClick={() => void toggle()}>{t("console.people.reinstate")}</button>
  ) : (
    <button type="button" class="danger" data-testid="suspend" onClick={() => void toggle()}>{t("console.people.suspend")}</button>
  );
}

function accountState(user: User | undefined): string {
  if (!user) return "—";
  return user.disabled_at ? `${t("console.people.suspended")} · ${formatTime(user.disabled_at)}` : t("console.people.active");
}

function PsychologistRow(props: { profile: Profile; user: User | undefined; onDone: () => void }) {
  const { profile } = props;
  const [error, setError] = useState<string | null>(null);
  async function decide(decision: "verified" | "rejected", supervisor: boolean) {
    try {
      await call(
        api.POST("/api/v1/psychologists/{user_id}/verification", {
          params: { path: { user_id: profile.user_id } },
          body: { decision, is_supervisor: supervisor },
        }),
      );
      props.onDone();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <tr data-testid="psychologist" data-user={profile.user_id} data-verification={profile.verification} data-disabled={props.user?.disabled_at ? "yes" : "no"}>
      <td>{profile.display_name ?? "—"}</td>
      <td>
        {t(`console.verification.${profile.verification}` as "console.verification.pending")}
        {profile.is_supervisor ? ` · ${t("console.people.supervisor")}` : ""}
      </td>
      <td>{profile.languages.join(", ")}</td>
      <td>{profile.open_cases}/{profile.capacity}{profile.on_duty ? ` · ${t("console.people.onDuty")}` : ""}</td>
      <td>{accountState(props.user)}</td>
      <td>
        <div class="row">
          {profile.verification !== "verified" ? (
            <button type="button" data-testid="verify" onClick={() => void decide("verified", false)}>{t("console.moderation.verify")}</button>
          ) : (
            <button type="button" class="secondary" data-testid="toggle-supervisor" onClick={() => void decide("verified", !profile.is_supervisor)}>
              {profile.is_supervisor ? t("console.people.unmakeSupervisor") : t("console.people.makeSupervisor")}
            </button>
          )}
          {profile.verification !== "rejected" ? (
            <button type="button" class="danger" data-testid="strike-off" onClick={() => void decide("rejected", false)}>
              {profile.verification === "pending" ? t("console.moderation.refuse") : t("console.people.strikeOff")}
            </button>
          ) : null}
          <AccountButton user={props.user} onDone={props.onDone} onError={setError} />
        </div>
        <ErrorNote error={error} />
      </td>
    </tr>
  );
}

function NewAccount(props: { onCreated: () => void }) {
  const [role, setRole] = useState<"psychologist" | "moderator">("moderator");
  const [login, setLogin] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(api.POST("/api/v1/users", { body: { role, login, display_name: name, password } }));
      setLogin("");
      setName("");
      setPassword("");
      props.onCreated();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <form class="card" onSubmit={submit} aria-labelledby="new-account-h">
      <h2 id="new-account-h">{t("console.people.newAccount")}</h2>
      <label for="account-role">{t("console.schools.role")}</label>
      <select id="account-role" value={role} onChange={(e) => setRole(e.currentTarget.value as typeof role)}>
        <option value="moderator">{t("console.people.moderator")}</option>
        <option value="psychologist">{t("console.people.psychologist")}</option>
      </select>
      <label for="account-login">{t("console.schools.login")}</label>
      <input id="account-login" required autoComplete="off" value={login} onInput={(e) => setLogin(e.currentTarget.value)} />
      <label for="account-name">{t("console.schools.displayName")}</label>
      <input id="account-name" required maxLength={120} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="account-password">{t("console.schools.password")}</label>
      <input id="account-password" type="password" required minLength={8} autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <ErrorNote error={error} />
      <p>
        <button type="submit" data-testid="account-create">{t("console.people.create")}</button>
      </p>
    </form>
  );
}

export function People() {
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [psychologists, setPsychologists] = useState<User[]>([]);
  const [moderators, setModerators] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  async function refresh() {
    const [p, pu, mu] = await Promise.all([
      api.GET("/api/v1/psychologists"),
      api.GET("/api/v1/users", { params: { query: { role: "psychologist", limit: 200 } } }),
      api.GET("/api/v1/users", { params: { query: { role: "moderator", limit: 200 } } }),
    ]);
    setProfiles(p.data ?? []);
    setPsychologists(pu.data?.items ?? []);
    setModerators(mu.data?.items ?? []);
  }
  useEffect(() => {
    void refresh();
  }, []);
  const accounts = new Map(psychologists.map((u) => [u.id, u]));
  const applied = new Set(profiles.map((p) => p.user_id));
  const notApplied = psychologists.filter((u) => !applied.has(u.id));
  return (
    <Shell title={t("console.people.title")} roles={["admin"]}>
      <ErrorNote error={error} />
      <section aria-labelledby="psychologists-h">
        <h2 id="psychologists-h">{t("console.people.psychologists")}</h2>
        <table class="grid" data-testid="psychologists">
          <thead>
            <tr>
              <th scope="col">{t("console.col.name")}</th>
              <th scope="col">{t("console.col.verification")}</th>
              <th scope="col">{t("console.col.languages")}</th>
              <th scope="col">{t("console.col.load")}</th>
              <th scope="col">{t("console.col.account")}</th>
              <th scope="col">{t("console.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {profiles.map((p) => (
              <PsychologistRow key={p.user_id} profile={p} user={accounts.get(p.user_id)} onDone={() => void refresh()} />
            ))}
          </tbody>
        </table>
        {notApplied.length ? (
          <p class="muted" data-testid="not-applied">
            {t("console.people.notApplied")}: {notApplied.map((u) => u.display_name).join(", ")}
          </p>
        ) : null}
      </section>
      <section aria-labelledby="moderators-h">
        <h2 id="moderators-h">{t("console.people.moderators")}</h2>
        <table class="grid" data-testid="moderators">
          <thead>
            <tr>
              <th scope="col">{t("console.col.name")}</th>
              <th scope="col">{t("console.schools.login")}</th>
              <th scope="col">{t("console.col.account")}</th>
              <th scope="col">{t("console.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {moderators.map((u) => (
              <tr key={u.id} data-testid="moderator" data-user={u.id} data-disabled={u.disabled_at ? "yes" : "no"}>
                <td>{u.display_name}</td>
                <td>{u.login ?? "—"}</td>
                <td>{accountState(u)}</td>
                <td><AccountButton user={u} onDone={() => void refresh()} onError={setError} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <NewAccount onCreated={() => void refresh()} />
    </Shell>
  );
}
