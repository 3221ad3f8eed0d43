/**
 * A streaming reader of a GeoJSON FeatureCollection: it scans the text once, keeping only the feature being read,
 * and yields each element of the top-level `features` array parsed on its own. A county's parcel layer is
 * hundreds of megabytes; parsing it whole would hold all of it (several times over) in memory.
 */

export class GeoJsonFormatError extends Error {
  override name = 'GeoJsonFormatError';
}

export type FeatureItem = { index: number; feature: unknown } | { index: number; error: string };

/** Yields the features; `onCrs` sees a top-level `crs` member (RFC 7946 dropped it; older exports still carry one). */
export async function* geojsonFeatures(chunks: AsyncIterable<string>, onCrs?: (crs: unknown) => void): AsyncGenerator<FeatureItem> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let collectingKey = false;
  let key = '';
  let currentKey = '';
  let inFeatures = false;
  let sawFeatures = false;
  let sawObject = false;
  // the text of the member being captured (a feature, or `crs`) and the depth it closes at
  let capture: string[] | null = null;
  let captureKind: 'feature' | 'crs' = 'feature';
  let captureDepth = 0;
  let index = 0;
  for await (const chunk of chunks) {
    let from = 0; // start of the captured part within this chunk
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34 /* " */) {
          inString = false;
          if (collectingKey) {
            collectingKey = false;
            currentKey = key;
          }
        } else if (collectingKey) key += chunk[i];
        continue;
      }
      if (c === 34) {
        inString = true;
        if (depth === 1 && expectKey) {
          collectingKey = true;
          key = '';
          expectKey = false;
        }
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        depth++;
        if (depth === 1) {
          if (c !== 123) throw new GeoJsonFormatError('the file is not a GeoJSON object (a FeatureCollection)');
          sawObject = true;
          expectKey = true;
        } else if (depth === 2 && c === 91 && currentKey === 'features') {
          inFeatures = true;
          sawFeatures = true;
        } else if (!capture && ((depth === 3 && inFeatures) || (depth === 2 && c === 123 && currentKey === 'crs'))) {
          capture = [];
          captureKind = depth === 3 ? 'feature' : 'crs';
          captureDepth = depth;
          from = i;
        }
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        if (capture && depth === captureDepth) {
          capture.push(chunk.slice(from, i + 1));
          const text = capture.join('');
          capture = null;
          let parsed: unknown;
          let error: string | null = null;
          try {
            parsed = JSON.parse(text);
          } catch (err) {
            error = `not valid JSON (${(err as Error).message})`;
          }
          if (captureKind === 'crs') onCrs?.(parsed);
          else {
            yield error === null ? { index, feature: parsed } : { index, error };
            index++;
          }
        }
        depth--;
        if (depth === 1 && inFeatures) inFeatures = false;
        if (depth < 0) throw new GeoJsonFormatError('unbalanced brackets: the file is not valid JSON');
      } else if (c === 44 /* , */ && depth === 1) expectKey = true;
    }
    if (capture) capture.push(chunk.slice(from));
  }
  if (!sawObject) throw new GeoJsonFormatError('the file is empty or not JSON');
  if (depth !== 0) throw new GeoJsonFormatError('the file ends inside a JSON value (cut off?)');
  if (!sawFeatures) throw new GeoJsonFormatError('no "features" array: the file is not a GeoJSON FeatureCollection');
}
