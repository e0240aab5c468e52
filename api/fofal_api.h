/*
 * fofal_api.h — the one header of api/ that other folders include: what the admin CLI
 * and tests need from the API without its internals.
 */
#ifndef FOFAL_API_PUBLIC_H
#define FOFAL_API_PUBLIC_H

/* A signed HS256 access token (new string, caller frees; NULL on failure) with claims iss,
 * aud, sub, tenant, role, iat, nbf and exp = now + ttl_s. */
char *fofal_api_token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                            const char *subject, const char *role, long ttl_s);

#endif
