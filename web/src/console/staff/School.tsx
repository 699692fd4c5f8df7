/**
 * School staff: classes, children (enrol, reset a PIN, invite a guardian),
 * the CSV roster, kiosk devices with their credential as a QR code, and the
 * children who have not heard from family (list, chart by class, CSV).
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { Link, type Params, navigate } from "../../lib/router";
import { ErrorNote } from "../../lib/ui";
import { BarChart } from "../charts";
import { QrCode } from "../qr";
import { Shell } from "../Shell";
import { Roster } from "./Roster";
import { SLIP_KEY, type SlipData } from "./Slip";
import { fullName } from "../../lib/names";

type SchoolPublic = Schemas["SchoolPublic"];
type ClassPublic = Schemas["ClassPublic"];
type ChildPublic = Schemas["ChildPublic"];
type DevicePublic = Schemas["DevicePublic"];
type QuietChild = Schemas["QuietChild"];

function download(name: string, rows: string[][]): void {
  const text = "\ufeff" + rows.map((r) => r.map((c) => `"${c.replace(/"/g, '""')}"`).join(",")).join("\r\n");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = name;
  link.click();
}

function Children(props: { school: SchoolPublic; classes: ClassPublic[]; version: number }) {
  const [children, setChildren] = useState<ChildPublic[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api
      .GET("/api/v1/schools/{school_id}/children", { params: { path: { school_id: props.school.id }, query: { limit: 200 } } })
      .then((r) => setChildren(r.data?.items ?? []));
  }, [props.school.id, props.version]);
  const className = (id: string) => props.classes.find((c) => c.id === id)?.name ?? "";

  async function invite(child: ChildPublic) {
    setError(null);
    try {
      const issued = await call(
        api.POST("/api/v1/children/{child_id}/invitations", {
          params: { path: { child_id: child.id } },
          body: { relation: "mother", note: t("console.invite.note") },
        }),
      );
      const slip: SlipData = {
        code: issued.code,
        child: child.given_name,
        school: props.school.name,
        expires: issued.expires_at,
      };
      sessionStorage.setItem(SLIP_KEY, JSON.stringify(slip));
      navigate("/console/slip");
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  async function resetPin(child: ChildPublic) {
    const pin = String(Math.floor(1000 + Math.random() * 9000));
    try {
      await call(api.POST("/api/v1/children/{child_id}/pin", { params: { path: { child_id: child.id } }, body: { pin } }));
      setError(t("console.pin.new", { name: child.given_name, pin }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <section aria-labelledby="children-h">
      <h2 id="children-h">{t("console.children")}</h2>
      <p role="status">{error}</p>
      <table class="grid" data-testid="children">
        <thead>
          <tr>
            <th scope="col">{t("console.col.child")}</th>
            <th scope="col">{t("console.col.class")}</th>
            <th scope="col">{t("console.col.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {children.map((c) => (
            <tr key={c.id}>
              <td>{fullName(c.family_name, c.given_name)}{c.pin_locked ? ` (${t("console.pin.locked")})` : ""}</td>
              <td>{className(c.class_id)}</td>
              <td class="row">
                <button type="button" class="link" data-testid="invite" onClick={() => void invite(c)}>{t("console.invite")}</button>
                <button type="button" class="link" onClick={() => void resetPin(c)}>{t("console.pin.reset")}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Devices(props: { school: SchoolPublic }) {
  const [devices, setDevices] = useState<DevicePublic[]>([]);
  const [name, setName] = useState("");
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { school_id: props.school.id } } };
  const load = () => api.GET("/api/v1/schools/{school_id}/devices", path).then((r) => setDevices(r.data ?? []));
  useEffect(() => void load(), [props.school.id]);
  async function register(event: Event) {
    event.preventDefault();
    try {
      const made = await call(api.POST("/api/v1/schools/{school_id}/devices", { ...path, body: { name } }));
      setToken(made.device_token);
      setName("");
      void load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  async function revoke(id: string) {
    await api.DELETE("/api/v1/schools/{school_id}/devices/{device_id}", {
      params: { path: { school_id: props.school.id, device_id: id } },
    });
    void load();
  }
  return (
    <section aria-labelledby="devices-h">
      <h2 id="devices-h">{t("console.devices")}</h2>
      <form onSubmit={register} class="row">
        <label for="device-name" class="sr-only">{t("console.devices.name")}</label>
        <input id="device-name" placeholder={t("console.devices.name")} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">{t("console.devices.register")}</button>
      </form>
      <ErrorNote error={error} />
      {token ? (
        <div class="card" data-testid="device-token">
          <p>{t("console.devices.scan")}</p>
          <QrCode text={token} label={t("console.devices.qr")} />
          <p><code>{token}</code></p>
        </div>
      ) : null}
      <ul class="list">
        {devices.map((d) => (
          <li key={d.id} class="card row spread">
            <span>{d.name} · {d.last_seen_at ? formatTime(d.last_seen_at) : "—"}</span>
            {d.revoked_at ? <span class="muted">{t("console.devices.revoked")}</span> : (
              <button type="button" class="danger" onClick={() => void revoke(d.id)}>{t("console.devices.revoke")}</button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Quiet(props: { school: SchoolPublic }) {
  const [rows, setRows] = useState<QuietChild[]>([]);
  useEffect(() => {
    void api
      .GET("/api/v1/schools/{school_id}/quiet-children", { params: { path: { school_id: props.school.id } } })
      .then((r) => setRows(r.data ?? []));
  }, [props.school.id]);
  const byClass = new Map<string, number>();
  rows.forEach((r) => byClass.set(r.class_name, (byClass.get(r.class_name) ?? 0) + 1));
  function exportCsv() {
    download("quiet-children.csv", [
      ["class", "family_name", "given_name", "days_quiet", "active_guardians"],
      ...rows.map((r) => [r.class_name, r.family_name, r.given_name, String(r.days_quiet ?? ""), String(r.active_guardians)]),
    ]);
  }
  return (
    <section aria-labelledby="quiet-h" data-testid="quiet">
      <h2 id="quiet-h">{t("console.quiet.title")}</h2>
      <BarChart title={t("console.quiet.byClass")} bars={[...byClass].map(([label, value]) => ({ label, value }))} />
      <button type="button" class="secondary" onClick={exportCsv}>{t("console.csv")}</button>
      <ul class="list">
        {rows.map((r) => (
          <li key={r.child_id}>
            {r.family_name}{r.given_name} · {r.class_name} ·{" "}
            {r.days_quiet === null ? t("console.quiet.never") : t("console.quiet.days", { days: r.days_quiet })}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Classes(props: { school: SchoolPublic; classes: ClassPublic[]; onChange: () => void }) {
  const [name, setName] = useState("");
  async function add(event: Event) {
    event.preventDefault();
    await api.POST("/api/v1/schools/{school_id}/classes", { params: { path: { school_id: props.school.id } }, body: { name } });
    setName("");
    props.onChange();
  }
  return (
    <section aria-labelledby="classes-h">
      <h2 id="classes-h">{t("console.classes")}</h2>
      <p>{props.classes.map((c) => c.name).join(" · ") || "—"}</p>
      <form onSubmit={add} class="row">
        <label for="class-name" class="sr-only">{t("console.classes.name")}</label>
        <input id="class-name" placeholder={t("console.classes.name")} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">{t("console.classes.add")}</button>
      </form>
    </section>
  );
}

export function School(props: { params: Params }) {
  const [schools, setSchools] = useState<SchoolPublic[]>([]);
  const [classes, setClasses] = useState<ClassPublic[]>([]);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    void api.GET("/api/v1/schools").then((r) => setSchools(r.data ?? []));
  }, []);
  const school = schools.find((s) => s.id === props.params.schoolId) ?? (schools.length === 1 ? schools[0] : undefined);
  useEffect(() => {
    if (school) {
      void api.GET("/api/v1/schools/{school_id}/classes", { params: { path: { school_id: school.id } } }).then((r) => setClasses(r.data ?? []));
    }
  }, [school?.id, version]);
  return (
    <Shell title={school ? school.name : t("console.school.title")} roles={["staff", "admin"]}>
      {!school ? (
        <ul class="list">
          {schools.map((s) => (
            <li key={s.id}><Link href={`/console/school/${s.id}`}>{s.name}</Link></li>
          ))}
        </ul>
      ) : (
        <>
          <Classes school={school} classes={classes} onChange={() => setVersion((v) => v + 1)} />
          <Roster schoolId={school.id} onEnrolled={() => setVersion((v) => v + 1)} />
          <Children school={school} classes={classes} version={version} />
          <Devices school={school} />
          <Quiet school={school} />
        </>
      )}
    </Shell>
  );
}
