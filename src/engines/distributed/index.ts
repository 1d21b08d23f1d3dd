export { DistributedEngine, type DistributedEngineOptions } from './distributed-engine.js';
export { StepWorker, type StepWorkerOptions, WORKER_ID_ENV } from './step-worker.js';
export { redactRedisUrl } from './redis.js';
