// Wired to src/audit/ once the audit store lands; until then these fields answer with a clear error.
import { GraphQLError } from 'graphql';

const notYet = () => {
  throw new GraphQLError('The audit log API is not available in this build', { extensions: { code: 'NOT_IMPLEMENTED' } });
};

export const auditResolvers = {
  Query: { auditLog: notYet, auditEntry: notYet, auditVerification: notYet },
};
