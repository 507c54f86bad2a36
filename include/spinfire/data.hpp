#pragma once
// data/: CIFAR-10 (binary release, image folders, decoded cache), augmentation, loaders;
// event streams (AEDAT 2.0, N-MNIST), event -> frame integration, CIFAR10-DVS, DVS emulator.
#include "spinfire/data/aedat.hpp"
#include "spinfire/data/augment.hpp"
#include "spinfire/data/cifar10.hpp"
#include "spinfire/data/cifar10_binary.hpp"
#include "spinfire/data/dvs_dataset.hpp"
#include "spinfire/data/emulated_dvs.hpp"
#include "spinfire/data/emulator.hpp"
#include "spinfire/data/events.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/data/frame_source.hpp"
#include "spinfire/data/frames.hpp"
#include "spinfire/data/image_folder.hpp"
#include "spinfire/data/image_set.hpp"
#include "spinfire/data/image_source.hpp"
#include "spinfire/data/loader.hpp"
#include "spinfire/data/nmnist.hpp"
