/** A QR code as SVG (the kiosk's credential, an invitation's link), drawn from qrcode-generator. */
import qrcode from "qrcode-generator";

export function QrCode(props: { text: string; label: string; size?: number }) {
  const qr = qrcode(0, "M");
  qr.addData(props.text);
  qr.make();
  const count = qr.getModuleCount();
  const cells: string[] = [];
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < count; c++) {
      if (qr.isDark(r, c)) cells.push(`M${c + 4},${r + 4}h1v1h-1z`);
    }
  }
  const size = count + 8;
  return (
    <svg
      class="qr"
      viewBox={`0 0 ${size} ${size}`}
      width={props.size ?? 180}
      height={props.size ?? 180}
      role="img"
      aria-label={props.label}
      data-testid="qr"
      shape-rendering="crispEdges"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={cells.join("")} fill="#000" />
    </svg>
  );
}
