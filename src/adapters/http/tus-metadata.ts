import type { DescribeUpload, UploadIntent } from '../../application/ingester/resumable-uploads';
import { parseUploadFields, toUploadCommand } from './upload-fields';
import { mediaType } from './upload-routes';

/** Keys tus clients add on their own (Uppy's relativePath, a browser File's type): not ours to refuse. */
const CLIENT_KEYS = new Set(['relativePath', 'type']);

/**
 * Upload-Metadata → what a direct upload's fields would say: `filename` (or `name`), `filetype`
 * (the content type) and the direct upload's own field names (retention_policy, ttl_days,
 * retain_until, collection, description, tags as a comma list, metadata as a JSON object,
 * sha256, ...), with the same checks and the same problem details.
 */
export const describeTusUpload: DescribeUpload = (metadata) => {
  const pairs: [string, string][] = [];
  let filename: string | undefined;
  let filetype: string | undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (key === 'filename') filename = value;
    else if (key === 'filetype') filetype = value;
    else if (!CLIENT_KEYS.has(key)) pairs.push([key, value]);
  }
  const fields = parseUploadFields(pairs);
  const { expect: _expect, ...command } = toUploadCommand(
    fields,
    filename,
    mediaType(filetype ?? metadata.type),
    { size: null },
  );
  const intent: UploadIntent = { ...command, sha256: fields.sha256 };
  return intent;
};
