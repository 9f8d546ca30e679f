/** Starts a real S3 server (npm:s3rver) on 127.0.0.1 in a temp folder, for integration tests. */

import S3rver from "s3rver";
import { AccessKey } from "../../src/net/credentials.ts";
import { S3Store, type S3StoreOptions } from "../../src/net/s3_store.ts";

export const S3RVER_ACCESS_KEY = "S3RVER";
export const S3RVER_SECRET = "S3RVER";

export interface RunningS3rver {
  endpoint: string;
  port: number;
  directory: string;
  bucket: string;
  /** Path of the stored bytes of an object (s3rver's filesystem layout). */
  objectPath(key: string): string;
  close(): Promise<void>;
}

export async function startS3rver(bucket = "grail-test-bucket"): Promise<RunningS3rver> {
  const directory = await Deno.makeTempDir({ prefix: "s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    bucket,
    objectPath: (key) => `${directory}/${bucket}/${key}._S3rver_object`,
    close: async () => {
      await server.close();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

/** An {@linkcode S3Store} on a running s3rver's bucket (path-style, its keys), with overrides. */
export function s3rverStore(s3: RunningS3rver, options: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    credentials: new AccessKey(S3RVER_ACCESS_KEY, S3RVER_SECRET),
    forcePathStyle: true,
    ...options,
  });
}
