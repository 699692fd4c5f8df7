/** Bar charts as inline SVG: no chart library to download, readable by screen readers as a table. */
import { t } from "../lib/i18n";

export interface Bar {
  label: string;
  value: number | null;
}

export function BarChart(props: { title: string; bars: Bar[]; unit?: string; testid?: string }) {
  const max = Math.max(1, ...props.bars.map((b) => b.value ?? 0));
  const width = 640;
  const rowH = 28;
  const labelW = 180;
  const height = props.bars.length * rowH + 8;
  return (
    <figure class="chart" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title} width="100%">
        {props.bars.map((bar, i) => {
          const w = bar.value === null ? 0 : ((width - labelW - 70) * bar.value) / max;
          const y = i * rowH + 4;
          return (
            <g key={bar.label}>
              <text x={0} y={y + 18} font-size="14" fill="currentColor">{bar.label}</text>
              <rect x={labelW} y={y + 4} width={Math.max(w, 0)} height={rowH - 10} rx={4} fill="#2f6f5e" />
              <text x={labelW + w + 6} y={y + 18} font-size="14" fill="currentColor">
                {bar.value === null ? t("console.suppressed") : `${bar.value}${props.unit ?? ""}`}
              </text>
            </g>
          );
        })}
      </svg>
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
