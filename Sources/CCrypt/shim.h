// libxcrypt's crypt_r and crypt_gensalt_rn (Debian's libcrypt-dev), for the bcrypt hashes of
// web_config_file's basic_auth_users. Only TallyServer's `PasswordHash` uses it.
#include <crypt.h>
