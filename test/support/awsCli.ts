import { execFileSync } from 'node:child_process';

/** Whether the machine has the AWS CLI: the tests that use it as a client are skipped without it. */
export const hasAwsCli = (() => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
