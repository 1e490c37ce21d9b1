// Run folders written before each loss had its own settings (egtea 556e040 and earlier) record
// `loss: { name, tau, settings? }`. Reading such a run.json goes through here, so old runs still
// evaluate, compare and resume; pipelines a user writes are checked as they are.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The pipeline of an older run.json in today's layout: `settings` moved into the loss block, `tau` kept for CDB only. Anything else is returned as it is. */
export function upgradeLegacyPipeline(pipeline: unknown): unknown {
  if (!isObject(pipeline) || !isObject(pipeline.loss)) return pipeline;
  const { settings, ...loss } = pipeline.loss;
  if (settings === undefined && (loss.name === 'cdb' || !('tau' in loss))) return pipeline;
  const upgraded: Record<string, unknown> = { ...loss };
  if (loss.name !== 'cdb') delete upgraded.tau;
  if (isObject(settings)) {
    // Old runs passed every setting to every loss, which read only its own.
    const own: Record<string, readonly string[]> = {
      focal: ['gamma'],
      cb: ['beta'],
      'cb-focal': ['beta', 'gamma'],
      eql: ['eqlLambda', 'eqlGamma'],
      ldam: ['ldamMaxMargin', 'ldamScale', 'drwEpoch', 'beta'],
    };
    for (const key of own[String(loss.name)] ?? []) if (settings[key] !== undefined) upgraded[key] = settings[key];
  }
  return { ...pipeline, loss: upgraded };
}
