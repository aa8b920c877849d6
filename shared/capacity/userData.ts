/**
 * The user data every training instance boots with: it starts the agent, which learns the
 * rest (what to restore, what to run) from the control bucket.
 * The AMI must carry Node.js 20+ and the agent at /opt/spot-training/agent.mjs (see the README).
 */
export function agentUserData(input: { jobName: string; attempt: number; controlBucket: string; region: string; logGroup?: string }): string {
  const env = [
    `SPOT_TRAINING_JOB=${input.jobName}`,
    `SPOT_TRAINING_ATTEMPT=${input.attempt}`,
    `SPOT_TRAINING_CONTROL_BUCKET=${input.controlBucket}`,
    `AWS_REGION=${input.region}`,
    ...(input.logGroup ? [`SPOT_TRAINING_LOG_GROUP=${input.logGroup}`] : []),
  ];
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'cat > /etc/spot-training.env <<EOF',
    ...env,
    'EOF',
    // systemd gives the agent SIGTERM and TimeoutStopSec when the instance shuts down: time for the
    // training container's 120 seconds after its own SIGTERM (SageMaker's), the final checkpoint and the model.
    'cat > /etc/systemd/system/spot-training-agent.service <<EOF',
    '[Unit]',
    'Description=spot-training agent',
    'After=network-online.target',
    '[Service]',
    'EnvironmentFile=/etc/spot-training.env',
    'ExecStart=/usr/bin/node /opt/spot-training/agent.mjs',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=300',
    '[Install]',
    'WantedBy=multi-user.target',
    'EOF',
    'systemctl daemon-reload',
    'systemctl enable --now spot-training-agent.service',
    '',
  ].join('\n');
}
