/**
 * Admins: the schools, and each school's first staff account. A school starts
 * with no one; its first staff member (usually the school's administrator, the
 * safeguarding contact) then enrols classes and children themselves.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { Shell } from "../Shell";

type School = Schemas["SchoolPublic"];
type Staff = Schemas["StaffPublic"];
type StaffRole = Staff["role"];

const ROLES: StaffRole[] = ["admin", "teacher", "counsellor"];
const TIMEZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong"];

function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : t("error.network");
}

function NewSchool(props: { onCreated: (school: School) => void }) {
  const [name, setName] = useState("");
  const [region, setRegion] = useState("");
  const [timezone, setTimezone] = useState(TIMEZONES[0]!);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const school = await call(api.POST("/api/v1/schools", { body: { name, region, timezone } }));
      setName("");
      setRegion("");
      props.onCreated(school);
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <form class="card" onSubmit={submit} aria-labelledby="new-school-h">
      <h2 id="new-school-h">{t("console.schools.create")}</h2>
      <label for="school-name">{t("console.schools.name")}</label>
      <input id="school-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="school-region">{t("console.schools.region")}</label>
      <input id="school-region" required maxLength={200} value={region} onInput={(e) => setRegion(e.currentTarget.value)} />
      <label for="school-tz">{t("console.schools.timezone")}</label>
      <select id="school-tz" value={timezone} onChange={(e) => setTimezone(e.currentTarget.value)}>
        {TIMEZONES.map((tz) => <option key={tz} value={tz}>{tz}</option>)}
      </select>
      <ErrorNote error={error} />
      <p>
        <button type="submit" data-testid="school-create">{t("console.schools.add")}</button>
      </p>
    </form>
  );
}

function AddStaff(props: { school: School; onAdded: () => void }) {
  const [login, setLogin] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<StaffRole>("admin");
  const [safeguarding, setSafeguarding] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const id = (field: string) => `staff-${field}-${props.school.id}`;
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(
        api.POST("/api/v1/schools/{school_id}/staff", {
          params: { path: { school_id: props.school.id } },
          body: { login, display_name: name, password: password || null, role, is_safeguarding_contact: safeguarding },
        }),
      );
      setLogin("");
      setName("");
      setPassword("");
      props.onAdded();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <form onSubmit={submit} aria-label={t("console.schools.addStaff")}>
      <h4>{t("console.schools.addStaff")}</h4>
      <label for={id("login")}>{t("console.schools.login")}</label>
      <input id={id("login")} data-testid="staff-login" required autoComplete="off" value={login} onInput={(e) => setLogin(e.currentTarget.value)} />
      <label for={id("name")}>{t("console.schools.displayName")}</label>
      <input id={id("name")} data-testid="staff-name" required maxLength={120} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for={id("password")}>{t("console.schools.password")}</label>
      <input id={id("password")} data-testid="staff-password" type="password" autoComplete="new-password" minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <label for={id("role")}>{t("console.schools.role")}</label>
      <select id={id("role")} value={role} onChange={(e) => setRole(e.currentTarget.value as StaffRole)}>
        {ROLES.map((r) => <option key={r} value={r}>{t(`console.staffRole.${r}` as "console.staffRole.admin")}</option>)}
      </select>
      <label class="check" for={id("safeguarding")}>
        <input id={id("safeguarding")} type="checkbox" checked={safeguarding} onChange={(e) => setSafeguarding(e.currentTarget.checked)} />
        {t("console.schools.safeguarding")}
      </label>
      <ErrorNote error={error} />
      <p>
        <button type="submit" data-testid="staff-add">{t("console.schools.addStaffSubmit")}</button>
      </p>
    </form>
  );
}

function SchoolRow(props: { school: School; open: boolean; onToggle: () => void }) {
  const { school } = props;
  const [staff, setStaff] = useState<Staff[] | null>(null);
  async function loadStaff() {
    const answer = await api.GET("/api/v1/schools/{school_id}/staff", { params: { path: { school_id: school.id } } });
    setStaff(answer.data ?? []);
  }
  useEffect(() => {
    if (props.open) void loadStaff();
  }, [props.open]);
  return (
    <li class="card" data-testid="school" data-school={school.id}>
      <div class="row">
        <h3>{school.name}</h3>
        <span class="muted">{school.region} · {school.timezone} · {formatTime(school.created_at)}</span>
        <button type="button" class="secondary" aria-expanded={props.open} data-testid="school-staff" onClick={props.onToggle}>
          {t("console.schools.staff")}
        </button>
      </div>
      {props.open && staff ? (
        <>
          {staff.length ? (
            <ul>
              {staff.map((s) => (
                <li key={s.id} data-testid="staff-member" data-state={s.state ?? "active"}>
                  {s.display_name} · {s.login ?? "—"} · {t(`console.staffRole.${s.role}` as "console.staffRole.admin")}
                  {s.is_safeguarding_contact ? ` · ${t("console.schools.safeguarding")}` : ""}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted" data-testid="no-staff">{t("console.schools.noStaff")}</p>
          )}
          <AddStaff school={school} onAdded={() => void loadStaff()} />
        </>
      ) : null}
    </li>
  );
}

export function Schools() {
  const [schools, setSchools] = useState<School[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  async function refresh() {
    const answer = await api.GET("/api/v1/schools");
    setSchools(answer.data ?? []);
  }
  useEffect(() => {
    void refresh();
  }, []);
  return (
    <Shell title={t("console.schools.title")} roles={["admin"]}>
      <NewSchool
        onCreated={(school) => {
          setOpen(school.id);
          void refresh();
        }}
      />
      <section aria-labelledby="schools-h">
        <h2 id="schools-h">{t("console.nav.schools")}</h2>
        <ul class="list" data-testid="schools">
          {schools.map((s) => (
            <SchoolRow key={s.id} school={s} open={open === s.id} onToggle={() => setOpen(open === s.id ? null : s.id)} />
          ))}
        </ul>
      </section>
    </Shell>
  );
}
