/** A recording behind the API's access check: fetched with the caller's token, then played. */
import { useEffect, useState } from "preact/hooks";
import { audioUrl } from "./audio";
import { t } from "./i18n";

export function Recording(props: { path: string; label: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState(false);
  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);
  if (url) return <audio controls autoPlay src={url} aria-label={props.label} data-testid="case-audio" />;
  return (
    <button
      type="button"
      class="secondary"
      data-testid="load-audio"
      onClick={() => audioUrl(props.path).then(setUrl, () => setError(true))}
    >
      ▶ {error ? t("audio.failed") : props.label}
    </button>
  );
}

