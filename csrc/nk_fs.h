/*
 * nk_fs.h — the on-disk format of the nanokernel filesystem (xv6's fs.h,
 * grown up a little).  The fs server, mkfs and fsck use these layouts through
 * cffi; nothing re-types them in Python.
 *
 * Disk layout, in NK_BSIZE blocks:
 *   [ superblock | log header | log blocks ... | inode blocks ... | bitmap ... | data ... ]
 *     block 0      logstart                      inodestart          bmapstart   datastart
 *
 * All integers are little-endian.  Block number 0 is never a data block, so a
 * zero block pointer means "not allocated" (a hole).
 */
#ifndef NK_FS_H
#define NK_FS_H

#include <stdint.h>

#define NK_FS_MAGIC     0x53464b4eu    /* "NKFS" */
#define NK_FS_VERSION   2              /* 2: 252-byte names, symbolic links */
#define NK_BSIZE        4096           /* block size in bytes */
#define NK_ROOTINO      1              /* inode number of "/" (inode 0 is never used) */

#define NK_NDIRECT      24
#define NK_NINDIRECT    (NK_BSIZE / 4)                 /* pointers per indirect block */
#define NK_MAXFILE_BLOCKS (NK_NDIRECT + NK_NINDIRECT + NK_NINDIRECT * NK_NINDIRECT)

#define NK_DIRSIZ       252            /* longest name in a directory entry (a dirent:
                                          256 bytes, 16 a block; Linux's NAME_MAX is 255) */

#define NK_LOGSIZE      64             /* log data blocks (plus one header block) */
#define NK_MAXOPBLOCKS  24             /* most blocks one operation may dirty */

/* Inode types. */
#define NK_T_FREE 0
#define NK_T_DIR  1
#define NK_T_FILE 2
#define NK_T_FIFO 3    /* a named pipe: size 0 and no blocks; its bytes live in the
                          pipe server, which an open of it connects to */
#define NK_T_SYMLINK 4 /* a symbolic link: its data is the target path (1 to
                          NK_SYMLINK_MAX bytes), which fs stores and never follows */
#define NK_SYMLINK_MAX 4095

/* Block 0. */
struct nk_superblock {
    uint32_t magic;       /* NK_FS_MAGIC */
    uint32_t version;     /* NK_FS_VERSION */
    uint32_t bsize;       /* NK_BSIZE, checked at mount */
    uint32_t nblocks;     /* blocks in the image */
    uint32_t ninodes;     /* inodes in the inode table */
    uint32_t nlog;        /* log blocks, header included */
    uint32_t logstart;    /* first log block (the header) */
    uint32_t inodestart;  /* first inode block */
    uint32_t bmapstart;   /* first free-map block */
    uint32_t datastart;   /* first data block */
    uint64_t created_ns;  /* when mkfs made it */
};

/* One inode on disk; NK_BSIZE / sizeof(struct nk_dinode) per block. */
struct nk_dinode {
    uint16_t type;        /* NK_T_* */
    uint16_t nlink;       /* directory entries that name this inode */
    uint32_t _reserved;
    uint64_t size;        /* bytes */
    int64_t  mtime_ns;    /* last modification, ns since the epoch */
    uint32_t direct[NK_NDIRECT];
    uint32_t indirect;    /* block of NK_NINDIRECT pointers */
    uint32_t dindirect;   /* block of pointers to indirect blocks */
};

/* One directory entry; a directory's data is an array of these.
 * inum 0 marks a free slot; name is NUL-padded, not NUL-terminated at NK_DIRSIZ. */
struct nk_dirent {
    uint32_t inum;
    char     name[NK_DIRSIZ];
};

/* A directory entry of format 1 (names of up to 60 bytes), read only by the
 * upgrade to format 2 (servers/fs/upgrade.py). */
#define NK_V1_DIRSIZ 60
struct nk_dirent_v1 {
    uint32_t inum;
    char     name[NK_V1_DIRSIZ];
};

/* The log header block: which home blocks the log blocks hold.
 * n == 0 means no committed transaction is waiting to be installed. */
struct nk_logheader {
    uint32_t n;
    uint32_t block[NK_LOGSIZE];
};

#endif
