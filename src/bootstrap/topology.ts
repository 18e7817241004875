import { Agent } from 'node:http';
import { ApplicationError } from '../application/errors';
import type {
  StorageElementClient,
  StorageElementDirectory,
} from '../application/ports/storage-element-client';
import type { RegistryView } from '../application/shared/registry-view';
import type { StorageElementService } from '../application/storage/storage-element-service';
import { HttpStorageElementClient } from '../adapters/clients/http-storage-element-client';
import type { JsonSidecarCodec } from '../adapters/sidecar/json-sidecar-codec';

/**
 * The one place that decides how a role reaches a storage element (§2): an SE hosted by this
 * process is called in-process; any other through its internal HTTP API at the URL it announced.
 */
export function storageElementDirectory(
  hosted: ReadonlyMap<string, StorageElementService>,
  registry: RegistryView,
  codec: JsonSidecarCodec,
  serviceToken: (rejected?: string) => Promise<string>,
): StorageElementDirectory {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const remote = new Map<string, StorageElementClient>();
  const urlOf = async (seId: string): Promise<string> => {
    const se = (await registry.list()).find((e) => e.id === seId);
    if (!se)
      throw new ApplicationError('storage_element_not_found', `storage element '${seId}' is not registered`);
    return se.url;
  };
  return {
    client(seId: string): StorageElementClient {
      const local = hosted.get(seId);
      if (local) return local;
      let client = remote.get(seId);
      if (!client) {
        client = new HttpStorageElementClient(seId, () => urlOf(seId), codec, agent, serviceToken);
        remote.set(seId, client);
      }
      return client;
    },
  };
}
