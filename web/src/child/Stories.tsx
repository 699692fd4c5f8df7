/**
 * The story shelf: the class's story boxes (synced to the tablet, so they play
 * when the school's Wi-Fi is down; the service worker keeps their audio) and
 * the family's own stories, chapter by chapter with "continue". The shelf
 * follows the live stream: a story a moderator approves appears without a
 * reload.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api, call } from "../lib/api/client";
import { t } from "../lib/i18n";
import { useLive } from "../lib/live";
import { Player } from "../lib/Player";
import { Link, type Params } from "../lib/router";
import { Spinner } from "../lib/ui";
import { ChildFrame, Face } from "./kiosk";

interface ManifestChapter {
  id: string;
  number: number;
  title: string;
  duration_ms: number | null;
  sha256: string;
}
interface ManifestStory {
  id: string;
  title: string;
  narrator: string;
  chapters: ManifestChapter[];
}
interface Manifest {
  box: { id: string; title: string };
  stories: ManifestStory[];
}

const MANIFESTS = "vb.manifests";

function savedManifests(): Manifest[] {
  try {
    return JSON.parse(localStorage.getItem(MANIFESTS) ?? "[]") as Manifest[];
  } catch {
    return [];
  }
}

/** Box manifests for this tablet; the audio files are fetched once so the service worker keeps them. */
async function syncBoxes(): Promise<Manifest[]> {
  const boxes = await call(api.GET("/api/v1/storyboxes"));
  const manifests: Manifest[] = [];
  for (const box of boxes) {
    const manifest = (await call(
      api.GET("/api/v1/storyboxes/{box_id}/sync/manifest", { params: { path: { box_id: box.id } } }),
    )) as unknown as Manifest;
    manifests.push(manifest);
  }
  localStorage.setItem(MANIFESTS, JSON.stringify(manifests));
  void warm(manifests);
  return manifests;
}

async function warm(manifests: Manifest[]): Promise<void> {
  if (!("caches" in window) || !navigator.serviceWorker?.controller) return;
  const { authHeaders } = await import("../lib/session");
  for (const m of manifests) {
    for (const story of m.stories) {
      for (const chapter of story.chapters) {
        await fetch(fileUrl(m.box.id, chapter.sha256), { headers: authHeaders() }).catch(() => undefined);
      }
    }
  }
}

function fileUrl(boxId: string, sha: string): string {
  return `/api/v1/storyboxes/${boxId}/sync/files/${sha}`;
}

export function Shelf() {
  const [boxes, setBoxes] = useState<Manifest[] | null>(null);
  const [family, setFamily] = useState<Schemas["StoryPublic"][]>([]);
  useEffect(() => {
    syncBoxes().then(setBoxes, () => setBoxes(savedManifests()));
    call(api.GET("/api/v1/stories")).then(setFamily, () => undefined);
  }, []);
  // A story approved, added or taken back for review: the shelf changes while it is open.
  useLive(["storybox."], () => void syncBoxes().then(setBoxes, () => undefined));
  return (
    <ChildFrame title={t("stories.title")} back="/kiosk/home">
      <h2>{t("stories.class")}</h2>
      {!boxes ? <Spinner label={t("loading")} /> : null}
      {boxes && boxes.every((b) => b.stories.length === 0) ? <p>{t("stories.none")}</p> : null}
      <ul class="tiles">
        {boxes?.flatMap((box) =>
          box.stories.map((story) => (
            <li key={story.id}>
              <Link class="button tile" href={`/kiosk/stories/${story.id}?box=${box.box.id}`} data-testid="box-story">
                <Face seed={story.id} text={story.title} />
                <span>{story.title}</span>
              </Link>
            </li>
          )),
        )}
      </ul>
      <h2>{t("stories.family")}</h2>
      {family.length === 0 ? <p>{t("stories.none")}</p> : null}
      <ul class="tiles">
        {family.map((story) => (
          <li key={story.id}>
            <Link class="button tile" href={`/kiosk/stories/${story.id}`} data-testid="family-story">
              <Face seed={story.id} text={story.title} />
              <span>{story.title}</span>
            </Link>
          </li>
        ))}
      </ul>
    </ChildFrame>
  );
}

interface Chapter {
  id: string;
  number: number;
  title: string;
  duration_ms: number | null;
  src: string;
  peaks?: number[];
  resumeMs: number;
}

export function StoryScreen(props: { params: Params }) {
  const storyId = props.params.storyId!;
  const boxId = new URLSearchParams(location.search).get("box");
  const [story, setStory] = useState<{ title: string; chapters: Chapter[] } | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    if (boxId) {
      const found = savedManifests().find((m) => m.box.id === boxId)?.stories.find((s) => s.id === storyId);
      if (!found) return setMissing(true);
      setStory({
        title: found.title,
        chapters: found.chapters.map((c) => ({ ...c, src: fileUrl(boxId, c.sha256), resumeMs: 0 })),
      });
      return;
    }
    call(api.GET("/api/v1/stories/{story_id}", { params: { path: { story_id: storyId } } })).then(
      (s) =>
        setStory({
          title: s.title,
          chapters: s.chapters.map((c) => ({
            ...c,
            id: c.id,
            src: `/api/v1/stories/${s.id}/chapters/${c.id}/audio`,
            resumeMs: s.resume?.chapter_id === c.id ? s.resume.position_ms : 0,
          })),
        }),
      () => setMissing(true),
    );
  }, [storyId, boxId]);
  if (missing) {
    return (
      <ChildFrame title={t("notFound.title")} back="/kiosk/stories">
        <p data-testid="not-found">{t("notFound.body")}</p>
      </ChildFrame>
    );
  }
  if (!story) return <ChildFrame title="" back="/kiosk/stories"><Spinner label={t("loading")} /></ChildFrame>;
  return (
    <ChildFrame title={story.title} back="/kiosk/stories">
      {boxId ? <p class="muted">✓ {t("stories.saved")}</p> : null}
      <ol class="list">
        {story.chapters.map((c) => (
          <li key={c.id} class="card" data-testid="chapter">
            <h2>{t("stories.chapter", { n: c.number })} · {c.title}</h2>
            {c.resumeMs > 0 ? <p class="muted">{t("stories.continue")}</p> : null}
            <Player
              src={c.src}
              durationMs={c.duration_ms ?? 0}
              startMs={c.resumeMs}
              peaks={c.peaks}
              label={c.title}
              report={
                boxId
                  ? undefined
                  : async (_playId, position_ms, segments) => {
                      await api.PUT("/api/v1/stories/{story_id}/chapters/{chapter_id}/progress", {
                        params: { path: { story_id: storyId, chapter_id: c.id } },
                        body: { position_ms, heard: segments.map((s) => [s.start_ms, s.end_ms] as [number, number]) },
                      });
                    }
              }
            />
          </li>
        ))}
      </ol>
    </ChildFrame>
  );
}
