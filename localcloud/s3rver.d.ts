// s3rver ships no types; the local cloud uses this much of it.
declare module 's3rver' {
  const S3rver: new (options: Record<string, unknown>) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
    on(event: 'event', listener: (notification: { Records: Record<string, unknown>[] }) => void): void;
  };
  export default S3rver;
}
