// @ergo-ts/metrics: Prometheus metrics (Ergo's actor/metrics names, Node.js' own, per-process
// top-N, actor-owned custom metrics) and Kubernetes health probes (Ergo's actor/health), served
// over the core's web meta.
export { ErgoCollector, DEFAULT_TOP_N, type ErgoCollectorOptions } from './collector.js';
export { TopN } from './topn.js';
export {
  EntitiesCollector,
  type EntitiesStatsSource,
  type EntitiesStatsLike,
  type EntitiesKindLike,
  type EntitiesInboxLike,
  type EntitiesWorkflowLoadLike,
  type EntitiesProjectionLike,
  type EntitiesStoreOperationLike,
} from './entities.js';
export {
  WORKFLOW_FAMILIES,
  type WorkflowKindLike,
  type WorkflowStepLike,
  type WorkflowHistogramLike,
  type WorkflowsLike,
  type WorkflowSample,
} from './workflows.js';
export {
  Metrics,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  DEFAULT_METRICS_PATH,
  type MetricsOptions,
} from './metrics.js';
export {
  MetricType,
  TopNOrder,
  METRICS_NAME,
  MetricRegisterRequest,
  MetricRegisterResponse,
  MessageMetricUnregister,
  MessageGaugeSet,
  MessageGaugeAdd,
  MessageCounterAdd,
  MessageHistogramObserve,
  MessageTopNObserve,
  MetricUpdate,
  registerGauge,
  registerCounter,
  registerHistogram,
  registerTopN,
  unregisterMetric,
  gaugeSet,
  gaugeAdd,
  counterAdd,
  histogramObserve,
  topNObserve,
  type MetricsClient,
  type MetricUpdater,
  type RegisterPlain,
} from './custom.js';
export {
  Health,
  Probe,
  HEALTH_NAME,
  DEFAULT_HEALTH_HOST,
  DEFAULT_HEALTH_PORT,
  DEFAULT_HEALTH_PATH,
  DEFAULT_HEALTH_CHECK_INTERVAL,
  HealthRegisterRequest,
  HealthUnregisterRequest,
  MessageHeartbeat,
  MessageSignalUp,
  MessageSignalDown,
  registerService,
  unregisterService,
  heartbeat,
  signalUp,
  signalDown,
  type HealthOptions,
} from './health.js';
export {
  Radar,
  createRadarApplication,
  RADAR_APPLICATION,
  DEFAULT_RADAR_HOST,
  DEFAULT_RADAR_PORT,
  type RadarOptions,
} from './radar.js';
