// libyaml's parser (Debian's libyaml-dev): the events TallyServer's YAMLDocument builds the
// config's node tree from. Only YAMLDocument uses it.
#include <yaml.h>
