/** Bar charts as inline SVG: no chart library to download, readable by screen readers as a table. */
import { t } from "../lib/i18n";

export interface Bar {
  label: string;
  value: number | null;
}

export function BarChart(props: { title: string; bars: Bar[]; unit?: string; testid?: string }) {
  const max = Math.max(1, ...props.bars.map((b) => b.value ?? 0));
  // Labels and figures are text at the page's size (an SVG scaled to the width made them
  // huge on a desk and tiny on a phone); each bar is an SVG stretched across its column.
  return (
    <figure class="chart" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <div class="chart-rows" aria-hidden="true">
        {props.bars.map((bar) => (
          <div key={bar.label} class="chart-row">
            <span class="chart-label">{bar.label}</span>
            <svg viewBox="0 0 100 10" preserveAspectRatio="none" focusable="false">
              <rect x={0} y={0} width={bar.value === null ? 0 : (100 * bar.value) / max} height={10} rx={1} />
            </svg>
            <span class="chart-value">
              {bar.value === null ? t("console.suppressed") : `${bar.value}${props.unit ?? ""}`}
            </span>
          </div>
        ))}
      </div>
      <table class="sr-only">
        <tbody>
          {props.bars.map((bar) => (
            <tr key={bar.label}>
              <th scope="row">{bar.label}</th>
              <td>{bar.value === null ? t("console.suppressed") : bar.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
