// `client.workflowService`: the raw calls of Temporal's gRPC `WorkflowService` that code reads
// beside the client's own API, answered from the engine — `listWorkflowExecutions`, one row per run
// of each workflow the visibility query names (the current run and the runs it continued from,
// newest first), with statuses as `temporal.api.enums.v1.WorkflowExecutionStatus` numbers. A cron
// workflow's earlier runs are COMPLETED (each ended and the next one started, as on Temporal's
// server), another workflow's CONTINUED_AS_NEW. Other calls of the service are not here.

import { WorkflowExecutionStatus } from '../proto/index.js';
import type { WorkflowClient } from './workflow_client.js';

/** A row of `listWorkflowExecutions` (the fields of Temporal's `WorkflowExecutionInfo` message this fills). */
export interface RawWorkflowExecutionInfo {
  readonly execution: { readonly workflowId: string; readonly runId: string };
  readonly type: { readonly name: string };
  /** A `WorkflowExecutionStatus` number. */
  readonly status: number;
  readonly startTime?: Date;
  readonly closeTime?: Date;
}

/** What `listWorkflowExecutions` takes (Temporal's `ListWorkflowExecutionsRequest`, the fields read). */
export interface ListWorkflowExecutionsRequest {
  readonly namespace?: string;
  /** `WorkflowType = '…'` and `WorkflowId = '…'` (joined by AND), as `client.workflow.list` reads them. */
  readonly query?: string;
}

/** Temporal's `WorkflowService`, the calls answered here. */
export class WorkflowService {
  readonly #workflow: WorkflowClient;

  constructor(workflow: WorkflowClient) {
    this.#workflow = workflow;
  }

  /** Every run of every workflow `query` names, newest first for each. */
  async listWorkflowExecutions(
    request: ListWorkflowExecutionsRequest = {},
  ): Promise<{ executions: RawWorkflowExecutionInfo[]; nextPageToken: Uint8Array }> {
    const executions: RawWorkflowExecutionInfo[] = [];
    for await (const row of this.#workflow.list(request.query === undefined ? {} : { query: request.query })) {
      const d = await this.#workflow.getHandle(row.workflowId).describe();
      const raw = d.raw;
      const cron = typeof (raw.input as { cronSchedule?: unknown } | undefined)?.cronSchedule === 'string';
      executions.push({
        execution: { workflowId: d.workflowId, runId: d.runId },
        type: { name: d.type },
        status: d.status.code,
        startTime: d.startTime,
        ...(d.closeTime === undefined ? {} : { closeTime: d.closeTime }),
      });
      for (const r of [...(raw.previousRuns ?? [])].reverse())
        executions.push({
          execution: { workflowId: d.workflowId, runId: r.runId ?? '' },
          type: { name: d.type },
          status:
            r.status === 'continued'
              ? cron
                ? WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
                : WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
              : r.status === 'completed'
                ? WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
                : r.status === 'failed'
                  ? WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
                  : r.status === 'timedOut'
                    ? WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT
                    : WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
          ...(r.startedAt === undefined ? {} : { startTime: new Date(r.startedAt) }),
          closeTime: new Date(r.endedAt),
        });
    }
    return { executions, nextPageToken: new Uint8Array() };
  }
}
