// Evaluates IAM requests for tests/iam.py, one JSON line in, one JSON line out, until stdin ends.
// In:  {"simulation": <iam-simulate Simulation>, "trust": false}
//      {"simulation": <Simulation whose resourcePolicy is a role's trust policy>, "trust": true}
// Out: the simulation's result. A trust policy is evaluated without checking the request's
//      context keys against iam-data, which lists no OIDC provider's `aud` and `sub` claims.
import { createInterface } from 'node:readline'
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

function assumeRole(simulation) {
  const trust = createValidatedPolicy(simulation.resourcePolicy, validateTrustPolicy, { name: 'trust' })
  if (trust.errors.length) return { resultType: 'error', errors: trust.errors }
  const overallResult = runUnsafeSimulation({ ...simulation, resourcePolicy: trust }, {})
  return { resultType: 'trust', overallResult }
}

for await (const line of createInterface({ input: process.stdin })) {
  const { simulation, trust } = JSON.parse(line)
  const result = trust ? assumeRole(simulation) : await runSimulation(simulation, {})
  process.stdout.write(JSON.stringify(result) + '\n')
}
