import type { KeyRingPolicy } from '../application/identity/key-ring';
import type { Config } from './config';

/** The issuer's rotation policy; the server and `artstore keys rotate` must use the same one. */
export function keyRingPolicy(
  config: Pick<Config, 'key_rotation_interval_s' | 'key_publish_lead_s' | 'token_lifetime_s'>,
): KeyRingPolicy {
  return {
    rotationIntervalMs: config.key_rotation_interval_s * 1000,
    publishLeadMs: config.key_publish_lead_s * 1000,
    maxTokenLifetimeMs: config.token_lifetime_s * 1000,
    leewayMs: 30_000,
  };
}
