import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { navigate } from "../lib/router";
import { sessionKind, useSession } from "../lib/session";

/** Parent screens need a signed-in adult; anyone else goes to sign in. */
export function Gate(props: { children: ComponentChildren }) {
  const user = useSession();
  const ok = user !== null && sessionKind() === "user";
  useEffect(() => {
    if (!ok) navigate(`/parent/signin?next=${encodeURIComponent(location.pathname)}`, true);
  }, [ok]);
  return ok ? <>{props.children}</> : null;
}
