/* nk_fs_cdef.h — what Python sees of nk_fs.h (cdef-only; values from the compiler). */

#define NK_FS_MAGIC ...
#define NK_FS_VERSION ...
#define NK_BSIZE ...
#define NK_ROOTINO ...
#define NK_NDIRECT ...
#define NK_NINDIRECT ...
#define NK_MAXFILE_BLOCKS ...
#define NK_DIRSIZ ...
#define NK_LOGSIZE ...
#define NK_MAXOPBLOCKS ...
#define NK_T_FREE ...
#define NK_T_DIR ...
#define NK_T_FILE ...
#define NK_T_FIFO ...
#define NK_T_SYMLINK ...
#define NK_SYMLINK_MAX ...

struct nk_superblock {
    uint32_t magic;
    uint32_t version;
    uint32_t bsize;
    uint32_t nblocks;
    uint32_t ninodes;
    uint32_t nlog;
    uint32_t logstart;
    uint32_t inodestart;
    uint32_t bmapstart;
    uint32_t datastart;
    uint64_t created_ns;
    ...;
};

struct nk_dinode {
    uint16_t type;
    uint16_t nlink;
    uint64_t size;
    int64_t  mtime_ns;
    uint32_t direct[...];
    uint32_t indirect;
    uint32_t dindirect;
    ...;
};

struct nk_dirent {
    uint32_t inum;
    char     name[...];
    ...;
};

#define NK_V1_DIRSIZ ...
struct nk_dirent_v1 {
    uint32_t inum;
    char     name[...];
    ...;
};

struct nk_logheader {
    uint32_t n;
    uint32_t block[...];
    ...;
};
