/**
 * The NGO's impact dashboard: aggregate figures by school or region and week,
 * charts of the latest week, and the CSV. A withheld cell (fewer than five
 * children behind it) shows as "<5", never as a number.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api } from "../../lib/api/client";
import { t } from "../../lib/i18n";
import { freshAuthHeaders } from "../../lib/session";
import { BarChart } from "../charts";
import { Shell } from "../Shell";

type Report = Schemas["ImpactReport"];
type Row = Schemas["ImpactRow"];
type GroupBy = "school" | "region";

const FIGURES = [
  "children_enrolled",
  "children_reached",
  "family_contact_share",
  "family_voice_minutes",
  "story_minutes",
  "help_requests",
  "help_answered_within_target",
] as const;

function cell(row: Row, name: (typeof FIGURES)[number]): string {
  const value = row[name];
  if (value === null || value === undefined) return `<${5}`;
  return name === "family_contact_share" ? `${Math.round(Number(value) * 100)}%` : String(value);
}

export function Impact() {
  const [groupBy, setGroupBy] = useState<GroupBy>("school");
  const [weeks, setWeeks] = useState(8);
  const [report, setReport] = useState<Report | null>(null);
  useEffect(() => {
    void api.GET("/api/v1/admin/impact", { params: { query: { group_by: groupBy, weeks } } }).then((r) => setReport(r.data ?? null));
  }, [groupBy, weeks]);

  async function downloadCsv() {
    const response = await fetch(`/api/v1/admin/impact/csv?group_by=${groupBy}&weeks=${weeks}`, { headers: await freshAuthHeaders() });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `impact-${groupBy}.csv`;
    link.click();
  }

  const rows = report?.rows ?? [];
  const latestWeek = rows.length ? rows[rows.length - 1]!.week : null;
  const latest = rows.filter((r) => r.week === latestWeek);
  return (
    <Shell title={t("console.impact.title")} roles={["admin"]}>
      <div class="row">
        <label for="group-by">{t("console.impact.groupBy")}</label>
        <select id="group-by" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as GroupBy)}>
          <option value="school">{t("console.impact.bySchool")}</option>
          <option value="region">{t("console.impact.byRegion")}</option>
        </select>
        <label for="weeks">{t("console.impact.weeks")}</label>
        <select id="weeks" value={String(weeks)} onChange={(e) => setWeeks(Number(e.currentTarget.value))}>
          {[4, 8, 12, 26, 52].map((n) => <option key={n} value={String(n)}>{n}</option>)}
        </select>
        <button type="button" class="secondary" data-testid="impact-csv" onClick={() => void downloadCsv()}>{t("console.csv")}</button>
      </div>
      <p class="muted">{t("console.impact.privacy")}</p>
      <div class="charts">
        <BarChart
          testid="chart-contact"
          title={t("console.impact.chartContact")}
          unit="%"
          bars={latest.map((r) => ({ label: r.label, value: r.family_contact_share == null ? null : Math.round(r.family_contact_share * 100) }))}
        />
        <BarChart
          title={t("console.impact.chartVoice")}
          bars={latest.map((r) => ({ label: r.label, value: r.family_voice_minutes ?? null }))}
        />
      </div>
      <table class="grid" data-testid="impact-table">
        <thead>
          <tr>
            <th scope="col">{t("console.impact.week")}</th>
            <th scope="col">{t("console.impact.group")}</th>
            {FIGURES.map((f) => <th key={f} scope="col">{t(`console.impact.${f}` as "console.impact.children_reached")}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.week}-${r.group}`}>
              <td>{r.week}</td>
              <td>{r.label}</td>
              {FIGURES.map((f) => <td key={f}>{cell(r, f)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </Shell>
  );
}
