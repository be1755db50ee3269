#include "io/bitt_file_writer.h"
#include "load/bitt_model.h"
#include "load/config_json.h"
#include "load/model_tensors.h"

namespace ttt {

void save_model_bitt(const std::string& path, const ModelWeights& weights, const std::string& tokenizer_json,
                     const std::string& tokenizer_config_json) {
    const std::vector<WeightTensor> tensors = weight_tensors(weights);
    std::vector<TensorSpec> specs;
    for (const WeightTensor& t : tensors) specs.push_back(t.spec);
    BittContents c;
    c.config_json = config_to_json(weights.config);
    c.weights_layout = kTernaryLayoutName;
    c.tokenizer_json = tokenizer_json;
    c.tokenizer_config_json = tokenizer_config_json;
    BittFileWriter out(path, std::move(c), std::move(specs), weights_metadata());
    for (size_t k; (k = out.next_index()) != BittFileWriter::kDone;) out.write(tensors[k].data, tensors[k].spec.n_bytes);
    out.commit(weights.fingerprint());
}

}  // namespace ttt
