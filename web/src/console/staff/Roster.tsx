/** Enrolling from a CSV roster: preview with an error per bad row, fix, then enrol all at once. */
import { useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";

type Preview = Schemas["RosterPreview"];
type Made = Schemas["RosterChildMade"];

export function Roster(props: { schoolId: string; onEnrolled: () => void }) {
  const [text, setText] = useState("");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [made, setMade] = useState<Made[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { school_id: props.schoolId } }, body: { csv: text } };

  async function check() {
    setError(null);
    setMade(null);
    try {
      setPreview(await call(api.POST("/api/v1/schools/{school_id}/roster/preview", path)));
    } catch (e) {
      setPreview(null);
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  async function enrol() {
    setError(null);
    try {
      setMade(await call(api.POST("/api/v1/schools/{school_id}/roster", path)));
      setPreview(null);
      props.onEnrolled();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  async function pick(file: File | undefined) {
    if (file) {
      setText(await file.text());
      setPreview(null);
    }
  }
  const bad = preview?.rows.filter((r) => r.errors.length) ?? [];
  return (
    <section aria-labelledby="roster-h" class="card">
      <h2 id="roster-h">{t("console.roster.title")}</h2>
      <p class="muted">{t("console.roster.hint")}</p>
      <label for="roster-file">{t("console.roster.file")}</label>
      <input id="roster-file" type="file" accept=".csv,text/csv" onChange={(e) => void pick(e.currentTarget.files?.[0])} />
      <label for="roster-text">{t("console.roster.text")}</label>
      <textarea id="roster-text" rows={8} value={text} onInput={(e) => { setText(e.currentTarget.value); setPreview(null); }} />
      <div class="row">
        <button type="button" class="secondary" data-testid="roster-preview" disabled={!text.trim()} onClick={() => void check()}>
          {t("console.roster.preview")}
        </button>
        <button type="button" data-testid="roster-enrol" disabled={!preview || preview.invalid > 0} onClick={() => void enrol()}>
          {t("console.roster.enrol", { count: preview?.valid ?? 0 })}
        </button>
      </div>
      <ErrorNote error={error} />
      {preview ? (
        <p role="status" data-testid="roster-summary" data-valid={preview.valid} data-invalid={preview.invalid}>
          {t("console.roster.summary", { valid: preview.valid, invalid: preview.invalid })}
        </p>
      ) : null}
      {bad.length ? (
        <table class="grid" data-testid="roster-errors">
          <thead>
            <tr>
              <th scope="col">{t("console.roster.line")}</th>
              <th scope="col">{t("console.col.child")}</th>
              <th scope="col">{t("console.roster.problem")}</th>
            </tr>
          </thead>
          <tbody>
            {bad.map((row) => (
              <tr key={row.line} data-testid="roster-error" data-line={row.line}>
                <td>{row.line}</td>
                <td>{row.family_name}{row.given_name}</td>
                <td class="error">{row.errors.join("; ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {made ? (
        <p class="ok" role="status" data-testid="roster-done">{t("console.roster.done", { count: made.length })}</p>
      ) : null}
    </section>
  );
}
