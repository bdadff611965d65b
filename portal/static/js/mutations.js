// The mutations the pages send, and a hook that runs one and keeps its UserErrors.
import { ApiError, mutate } from './api.js';
import { useState } from './lib.js';

const ERRORS = 'errors { code message path }';
const DEPLOYMENT = 'deployment { id number state version }';

export const DEPLOY = `mutation Deploy($input: DeployInput!) {
  deploy(input: $input) { ${DEPLOYMENT} ${ERRORS} } }`;
export const PROMOTE = `mutation Promote($input: PromoteInput!) {
  promote(input: $input) {
    ${DEPLOYMENT} plan { fromVersion toVersion requiredApprovals frozen } ${ERRORS} } }`;
export const ROLLBACK = `mutation Rollback($input: RollbackInput!) {
  rollback(input: $input) { ${DEPLOYMENT} ${ERRORS} } }`;
export const CANCEL = `mutation Cancel($input: CancelDeploymentInput!) {
  cancelDeployment(input: $input) { ${DEPLOYMENT} ${ERRORS} } }`;
export const APPROVE = `mutation Approve($input: ApproveDeploymentInput!) {
  approveDeployment(input: $input) { ${DEPLOYMENT} ${ERRORS} } }`;
export const REJECT = `mutation Reject($input: RejectDeploymentInput!) {
  rejectDeployment(input: $input) { ${DEPLOYMENT} ${ERRORS} } }`;
export const FREEZE = `mutation Freeze($input: FreezeEnvironmentInput!) {
  freezeEnvironment(input: $input) {
    environment { slug protection { frozen freezeReason } } ${ERRORS} } }`;
export const UNFREEZE = `mutation Unfreeze($input: UnfreezeEnvironmentInput!) {
  unfreezeEnvironment(input: $input) {
    environment { slug protection { frozen freezeReason } } ${ERRORS} } }`;
export const CREATE_TOKEN = `mutation CreateToken($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token { id name prefix scopes expiresAt createdAt } secret ${ERRORS} } }`;
export const REVOKE_TOKEN = `mutation RevokeToken($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) { token { id revokedAt } ${ERRORS} } }`;

/**
 * `run(input)` sends the mutation; answers the payload when it has no UserError, else null
 * with `errors` set (a request that failed whole becomes one error without a path).
 */
export function useMutation(text) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  const run = async (input) => {
    setBusy(true);
    setErrors([]);
    try {
      const payload = await mutate(text, { input });
      if (payload.errors.length) {
        setErrors(payload.errors);
        return null;
      }
      return payload;
    } catch (error) {
      const code = error instanceof ApiError ? (error.errors[0]?.extensions?.code ?? 'ERROR') : 'ERROR';
      setErrors([{ code, message: error.message, path: null }]);
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, errors, setErrors };
}
