/** Types of the security plugin, apart so route modules can name them without an import cycle. */
import type { AuditInput, AuditKind } from '../audit/balp.js';
import type { AuditWriter } from '../store/audit-store.js';
import type { Db } from '../store/db.js';

export interface AuthOptions {
  /** HS256 secret for access tokens; else CUSTODIAN_JWT_SECRET (read by the CLI), else a key kept in the database. */
  jwtSecret?: Uint8Array;
  /** The audit trail; on unless a benchmark turns it off. */
  audit?: boolean;
  accessTokenSeconds?: number;
  /** Sessions idle longer than this are logged off. */
  idleTimeoutSeconds?: number;
  maxLoginFailures?: number;
  lockoutSeconds?: number;
  loginPerMinute?: number;
  apiPerMinute?: number;
  breakGlassMinutes?: number;
  /** Origins allowed to call the API from a browser; none by default (CORS closed). */
  corsOrigins?: string[];
}

export interface SecurityContext {
  user: { id: string; username: string; roles: string[] };
  sid: string;
  permissions: Set<string>;
  scope?: string;
  patient?: string;
  patientOnly?: boolean;
}

export interface SecurityRuntime {
  db: Db;
  secret: Uint8Array;
  options: Required<Omit<AuthOptions, 'jwtSecret' | 'corsOrigins'>> & { corsOrigins: string[] };
  audit: AuditWriter | undefined;
  /** Every registered route as "METHOD /pattern". */
  routes: string[];
  recordAudit(input: AuditInput): Promise<void>;
}

export interface RequestAudit {
  handled?: boolean;
  /** The write's audit event was committed inside the write's transaction (see transactionAuditor). */
  inTransaction?: boolean;
  kind?: AuditKind;
  references: string[];
  patientIds: Set<string>;
  query?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    security: SecurityContext | null;
    auditInfo: RequestAudit | null;
  }
  interface FastifyInstance {
    securityRuntime: SecurityRuntime;
  }
}

