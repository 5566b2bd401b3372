/** Access tokens: short-lived HS256 JWTs (jose). Refresh tokens are opaque and stored hashed per session. */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export interface AccessClaims {
  sub: string; // user id
  username: string;
  roles: string[];
  sid: string; // session id
  scope?: string;
  patient?: string;
}

const ISSUER = 'custodian';

export async function signAccessToken(claims: AccessClaims, secret: Uint8Array, ttlSeconds: number): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT({ ...rest, typ: 'access' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secret);
}

export async function verifyAccessToken(token: string, secret: Uint8Array): Promise<AccessClaims> {
  const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, algorithms: ['HS256'] });
  if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new Error('not an access token');
  return {
    sub: payload.sub,
    username: String(payload.username),
    roles: Array.isArray(payload.roles) ? payload.roles.map(String) : [],
    sid: payload.sid,
    scope: typeof payload.scope === 'string' ? payload.scope : undefined,
    patient: typeof payload.patient === 'string' ? payload.patient : undefined,
  };
}

export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
