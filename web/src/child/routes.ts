import type { Route } from "../lib/router";

const kiosk = () => import("./screens");
const entry = () => import("./entry");

export const routes: Route[] = [
  { path: "/kiosk", load: () => entry().then((m) => m.Roster) },
  { path: "/kiosk/setup", load: () => entry().then((m) => m.Setup) },
  { path: "/kiosk/pin/:childId", load: () => entry().then((m) => m.Pin) },
  { path: "/kiosk/home", load: () => kiosk().then((m) => m.Home) },
  { path: "/kiosk/thread/:threadId", load: () => kiosk().then((m) => m.ThreadScreen) },
  { path: "/kiosk/stories", load: () => import("./Stories").then((m) => m.Shelf) },
  { path: "/kiosk/stories/:storyId", load: () => import("./Stories").then((m) => m.StoryScreen) },
  { path: "/kiosk/help", load: () => import("./Help").then((m) => m.Help) },
];
