/**
 * s3rver 3.7 leaves out a common prefix whose objects all lie two or more folders below it:
 * its filesystem walk skips the folders beneath a common prefix before it has seen an object
 * in them. S3 lists such a prefix (`a/` for the key `a/b/c`), and the control plane relies on
 * it to find the job folders under a checkpoint S3Uri. This replaces the store's listing with
 * one that lists the keys without a delimiter and groups them the way S3 does.
 */
interface ListOptions {
  delimiter?: string;
  prefix?: string;
  startAfter?: string;
  maxKeys?: number;
}
interface Listed {
  key: string;
}
interface ListResult {
  objects: Listed[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
export interface ListingStore {
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
}

export function groupByDelimiter(store: ListingStore): void {
  const flat = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { delimiter, prefix = '', maxKeys = Infinity } = options;
    if (!delimiter) return flat(bucket, options);
    const all = await flat(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const objects: Listed[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    for (const object of all.objects) {
      const cut = object.key.indexOf(delimiter, prefix.length);
      const common = cut === -1 ? undefined : object.key.slice(0, cut + delimiter.length);
      if (common !== undefined && commonPrefixes.at(-1) === common) continue;
      // MaxKeys counts objects and common prefixes alike, as S3 does.
      if (objects.length + commonPrefixes.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      if (common !== undefined) commonPrefixes.push(common);
      else objects.push(object);
    }
    return { objects, commonPrefixes, isTruncated };
  };
}
