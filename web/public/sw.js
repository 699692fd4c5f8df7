/* VoiceBridge service worker: the app shell for offline starts, story-box audio for
 * the school's offline listening. Nothing personal is cached: API answers other than
 * story-box sync files (content-addressed, the same for every child) pass through. */
const SHELL = "vb-shell-v1";
const STORIES = "vb-stories-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.add("/")).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

function sameOrigin(url) {
  return url.origin === self.location.origin;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!sameOrigin(url)) return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !url.pathname.startsWith("/api/")) {
            const copy = response.clone();
            caches.open(SHELL).then((c) => c.put("/", copy));
          }
          return response;
        })
        .catch(() => caches.open(SHELL).then((c) => c.match("/")).then((r) => r || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(SHELL, request));
    return;
  }
  if (/^\/api\/v1\/storyboxes\/[^/]+\/sync\/files\/[0-9a-f]{64}$/.test(url.pathname)) {
    event.respondWith(cacheFirst(STORIES, request));
  }
});

async function cacheFirst(name, request) {
  const cache = await caches.open(name);
  const hit = await cache.match(request, { ignoreVary: true, ignoreSearch: false });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) await cache.put(request, response.clone());
  return response;
}
