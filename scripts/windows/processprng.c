/* Wine 8.0 has no bcryptprimitives.dll!ProcessPrng, which Rust's std on Windows imports for
 * its random numbers (HashMap keys): without it every Rust program dies at start with
 * c0000135. This is the whole of what std needs, on top of the RtlGenRandom Wine does have.
 * Built by scripts/windows/wine-env.sh with the mingw-w64 gcc from win-check; used only
 * under Wine (a real Windows has its own). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
