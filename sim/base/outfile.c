/* outfile.c — see outfile.h. */
#include "base/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_temp_name(const char *path, char *buf, size_t n)
{
    return snprintf(buf, n, "%s.tmp.%ld", path, (long)getpid());
}

int outfile_open(const char *path, const char *mode, char **tmp, FILE **f,
                 iosim_err_t *err)
{
    *tmp = NULL;
    *f = NULL;
    if (!path[0])
        return iosim_err_set(err, "'': an empty file name");
    struct stat lst, st;
    if (lstat(path, &lst) == 0 && !S_ISREG(lst.st_mode)) {
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return iosim_err_set(err, "%s: is a directory", path);
        if (!(*f = fopen(path, mode)))
            return iosim_err_set(err, "%s: cannot open: %s", path,
                                 iosim_errno_str(errno));
        return 0;
    }
    size_t n = strlen(path) + 32;
    if (!(*tmp = malloc(n)))
        return iosim_err_set(err, "%s: out of memory", path);
    outfile_temp_name(path, *tmp, n);
    if (!(*f = fopen(*tmp, mode))) {
        iosim_err_set(err, "%s: cannot create %s: %s", path, *tmp,
                      iosim_errno_str(errno));
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    return 0;
}

int outfile_close(const char *path, FILE *f, char *tmp, bool ok,
                  iosim_err_t *err)
{
    int rc = ok ? 0 : -1;
    if (!rc && (fflush(f) != 0 || ferror(f)))
        rc = iosim_err_set(err, "%s: cannot write: %s", path,
                           iosim_errno_str(errno ? errno : EIO));
    if (fclose(f) != 0 && !rc)
        rc = iosim_err_set(err, "%s: cannot write: %s", path,
                           iosim_errno_str(errno));
    if (tmp) {
        if (!rc && rename(tmp, path) != 0)
            rc = iosim_err_set(err, "%s: cannot write: %s", path,
                               iosim_errno_str(errno));
        if (rc)
            unlink(tmp);
        free(tmp);
    }
    return rc;
}

int outfile_not_input(const char *opt, const char *out, const char *in,
                      iosim_err_t *err)
{
    struct stat o, i;
    if (out && in && stat(out, &o) == 0 && stat(in, &i) == 0 &&
        o.st_dev == i.st_dev && o.st_ino == i.st_ino)
        return iosim_err_set(err, "%s %s: is the input %s", opt, out, in);
    return 0;
}
