/* The public header compiles as C99 (-Wpedantic -Werror) and links against the shared library. */
#include "bit_ttt.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    ttt_model_params mp;
    ttt_context_params cp;
    ttt_model* model = NULL;
    if (ttt_abi_version() != TTT_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: header %d, library %u\n", TTT_ABI_VERSION, ttt_abi_version());
        return 1;
    }
    if (ttt_model_params_init(&mp, (uint32_t)sizeof mp) != TTT_OK || mp.struct_size != sizeof mp) return 1;
    if (ttt_context_params_init(&cp, (uint32_t)sizeof cp) != TTT_OK || cp.struct_size != sizeof cp) return 1;
    if (ttt_load_model("/nonexistent/model", &mp, &model) != TTT_ERR_IO || model != NULL) return 1;
    if (strlen(ttt_last_error()) == 0) return 1;
    if (ttt_load_model(NULL, NULL, &model) != TTT_ERR_NULL_POINTER) return 1;
    ttt_model_free(NULL);
    ttt_destroy(NULL);
    ttt_layer_destroy(NULL);
    printf("C99 header OK: bit_ttt %s, %s\n", ttt_version_string(), ttt_status_string(TTT_ERR_PANIC));
    return 0;
}
