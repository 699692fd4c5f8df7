import { render } from "preact";
import { App } from "./app";
import "./lib/styles.css";

render(<App />, document.getElementById("app")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  // The service worker keeps the app shell and story-box audio for the school's offline hours.
  void navigator.serviceWorker.register("/sw.js", { scope: "/" });
}
