/** Reading an import file: its SHA-256 (named in every audit entry) and its text as a stream with bytes counted. */
import { stat } from 'node:fs/promises';

export class ImportFileError extends Error {
  override name = 'ImportFileError';
}

export async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ImportFileError(`${path} is not a regular file`);
    return s.size;
  } catch (err) {
    if (err instanceof ImportFileError) throw err;
    throw new ImportFileError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/** SHA-256 (hex) of the file, read in chunks (the file may be larger than memory should hold). */
export async function fileSha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}

/** The file's text in chunks (UTF-8), calling `onBytes` with the bytes read so far (for the progress bar). */
export async function* textChunks(path: string, onBytes: (n: number) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let bytes = 0;
  for await (const chunk of Bun.file(path).stream()) {
    bytes += chunk.byteLength;
    onBytes(bytes);
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}
