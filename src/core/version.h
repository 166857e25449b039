#ifndef VNFM_VERSION_H
#define VNFM_VERSION_H

#define VNFM_VERSION "0.1.0"

#endif
