/**
 * Admins: dead-letter jobs, the background work that failed for good. Each
 * shows its error and payload; retry queues it again from its first attempt.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { Shell } from "../Shell";

type Job = Schemas["JobPublic"];

function DeadJob(props: { job: Job; onRetried: (job: Job) => void }) {
  const { job } = props;
  const [error, setError] = useState<string | null>(null);
  async function retry() {
    setError(null);
    try {
      props.onRetried(await call(api.POST("/api/v1/admin/jobs/{job_id}/retry", { params: { path: { job_id: job.id } } })));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <li class="card" data-testid="dead-job" data-job={job.id} data-kind={job.kind}>
      <p>
        <code>{job.kind}</code> · {t("console.jobs.attempts", { n: job.attempts })} · {job.finished_at ? formatTime(job.finished_at) : "—"}
      </p>
      <details>
        <summary data-testid="job-error-toggle">{t("console.jobs.error")}</summary>
        <pre data-testid="job-error">{job.last_error ?? "—"}</pre>
        <p>{t("console.jobs.payload")}:</p>
        <pre>{JSON.stringify(job.payload, null, 2)}</pre>
      </details>
      <p>
        <button type="button" data-testid="job-retry" onClick={() => void retry()}>{t("console.jobs.retry")}</button>
      </p>
      <ErrorNote error={error} />
    </li>
  );
}

export function Jobs() {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [retried, setRetried] = useState<Job[]>([]);
  async function refresh() {
    const answer = await api.GET("/api/v1/admin/jobs/dead");
    setJobs(answer.data ?? []);
  }
  useEffect(() => {
    void refresh();
  }, []);
  return (
    <Shell title={t("console.jobs.title")} roles={["admin"]}>
      <p class="muted">{t("console.jobs.note")}</p>
      <p>
        <button type="button" class="secondary" data-testid="jobs-refresh" onClick={() => void refresh()}>{t("console.jobs.refresh")}</button>
      </p>
      {retried.length ? (
        <ul class="list" role="status">
          {retried.map((job) => (
            <li key={job.id} data-testid="job-requeued" data-job={job.id}>
              {t("console.jobs.queued", { kind: job.kind })}
            </li>
          ))}
        </ul>
      ) : null}
      {jobs === null ? null : jobs.length ? (
        <ul class="list" data-testid="dead-jobs">
          {jobs.map((job) => (
            <DeadJob
              key={job.id}
              job={job}
              onRetried={(done) => {
                setRetried([done, ...retried]);
                setJobs(jobs.filter((j) => j.id !== done.id));
              }}
            />
          ))}
        </ul>
      ) : (
        <p class="muted" data-testid="jobs-empty">{t("console.jobs.empty")}</p>
      )}
    </Shell>
  );
}
