class ModuleDocFragment:
    """Connection options for the PostgreSQL target, shared by every module that writes or reads it."""

    DOCUMENTATION = r"""
options:
  pg_host:
    description: PostgreSQL host name or address (or a Unix socket directory).
    type: str
    default: 127.0.0.1
    aliases: [login_host]
  pg_port:
    description: PostgreSQL port.
    type: int
    default: 5432
    aliases: [login_port]
  pg_database:
    description: Target database.
    type: str
    aliases: [login_db]
  pg_user:
    description: Role to connect as.
    type: str
    aliases: [login_user]
  pg_password:
    description:
      - Password. Prefer O(pg_passfile) or O(pg_service); never logged.
    type: str
    aliases: [login_password]
  pg_sslmode:
    description: libpq sslmode.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    aliases: [ssl_mode]
  pg_sslrootcert:
    description: CA certificate file to verify the server's certificate (libpq sslrootcert).
    type: path
    aliases: [ca_cert]
  pg_service:
    description: A libpq service name (from PGSERVICEFILE or ~/.pg_service.conf).
    type: str
  pg_passfile:
    description: A .pgpass file (mode 0600) holding the password.
    type: path
"""
