import type { Route, Screen } from "../lib/router";
import { navigate } from "../lib/router";
import { sessionKind } from "../lib/session";

const screens = () => import("./screens");
const account = () => import("./account");

/** Signed-in screens: without a session, the sign-in screen loads instead of the recorder. */
function signedIn(load: () => Promise<Screen>): () => Promise<Screen> {
  return () => {
    if (sessionKind() === "user") return load();
    navigate(`/parent/signin?next=${encodeURIComponent(location.pathname)}`, true);
    return account().then((m) => m.SignIn);
  };
}

export const routes: Route[] = [
  { path: "/parent", load: signedIn(() => screens().then((m) => m.Home)) },
  { path: "/parent/signin", load: () => account().then((m) => m.SignIn) },
  { path: "/parent/register", load: () => account().then((m) => m.Register) },
  { path: "/parent/join", load: signedIn(() => screens().then((m) => m.Join)) },
  { path: "/parent/child/:childId", load: signedIn(() => import("./Thread").then((m) => m.Thread)) },
  { path: "/parent/child/:childId/stories", load: signedIn(() => import("./Stories").then((m) => m.ChildStories)) },
  { path: "/parent/stories/:storyId", load: signedIn(() => import("./Stories").then((m) => m.StoryPage)) },
];
