// `bit-ttt studio`: Bit-Llama Studio, a local web app (tools/studio/).
#pragma once

int cmd_studio(int argc, char** argv);
