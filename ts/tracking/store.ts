/**
 * What fvc asks of an MLflow tracking backend. Two implementations: MLflow's own
 * file store (offline, `mlflow ui` reads it) and the REST API of a tracking server.
 */
export interface MlflowMetric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface StartRun {
  experimentId: string;
  runName: string;
  startTime: number;
  userId: string;
  tags: Record<string, string>;
}

/** MLflow's RunStatus names; the file store keeps them as integers. */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export const RUN_STATUS_CODE: Record<RunStatus, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };

export interface TrackingStore {
  /** Where runs go, for log lines. */
  readonly location: string;
  /** The experiment's id, created when it does not exist yet. */
  experiment(name: string): Promise<string>;
  startRun(run: StartRun): Promise<string>;
  logBatch(runId: string, batch: { metrics?: MlflowMetric[]; params?: Record<string, string>; tags?: Record<string, string> }): Promise<void>;
  /** Copies a local file to `<run artifacts>/<artifactPath>/<basename>`. */
  logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void>;
  endRun(runId: string, status: RunStatus, endTime: number): Promise<void>;
}
